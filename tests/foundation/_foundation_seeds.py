# ruff: noqa: E501  (the seeds' lines are kept verbatim)
"""The JSON examples of shared/seeds/*.txt, copied VERBATIM (whitespace included).

Generated from the seed files (UTF-8: seeds/000 has a no-break space in its email);
do not edit by hand.
"""

from __future__ import annotations

# seeds/000 (development): token 2xx and 4xx
TOKEN_OK_000 = """{
"refresh_token_expires_in": "0",
"api_product_list": "[api-SehatMu-stg, api-dev, pl-api-SehatMu-stg, pl-api-dev]",
"api_product_list_json": [
"api-SehatMu-stg",
"api-dev",
"pl-api-SehatMu-stg",
"pl-api-dev"
],
"organization_name": "ihs-prod-1",
"developer.email": "[email protected]",
"token_type": "BearerToken",
"issued_at": "1671109805593",
"client_id": "oGt4MwoRp35O6Bg3LaWwXuIPQGj9FmXvKUGezvwXr4fuJicF",
"access_token": "k8JIDROZHfXjmUcQJE62lMqQwlLU",
"application_name": "992291b8-a613-40aa-b27c-41e480c7585f",
"scope": "",
"expires_in": "3599",
"refresh_count": "0",
"status": "approved"
}""".encode()

TOKEN_BAD_CREDENTIALS_000 = b"""{
"resourceType": "OperationOutcome",
"issue": [
{
"severity": "invalid",
"code": "value",
"details": {
"text": "The user or system was not able to be authenticated (either client_id or client_secret combination is unacceptable)"
}
}
]
}"""

# seeds/001 (Master Wilayah, staging): token 2xx and 4xx, region 4xx envelope
TOKEN_OK_001 = b"""{
  "refresh_token_expires_in": "0",
  "api_product_list": "[api-sandbox]",
  "api_product_list_json": [
        "api-sandbox"
  ],
  "organization_name": "ihs-prod-1",
  "developer.email": "<email-dev>",
  "token_type": "BearerToken",
  "issued_at": "1671109805593",
  "client_id": "<client-id>",
  "access_token": "<access-token>",
  "application_name": "992291b8-a613-40aa-b27c-41e480c7585f",
  "scope": "",
  "expires_in": "3599",
  "refresh_count": "0",
  "status": "approved"
}"""

TOKEN_BAD_CREDENTIALS_001 = b"""{
  "resourceType": "OperationOutcome",
  "issue": [{
    "severity": "invalid",
    "code": "value",
    "details": {
      "text": "The user or system was not able to be authenticated (either client_id or client_secret combination is unacceptable)"
      }
    }
  ]
}"""

MASTER_DATA_LIMIT_001 = b"""{
  "status_code": 400,
  "message": "limit cannot be more than 2000",
  "data": null
}"""

# seeds/001: the text a client id used for another organization gets
BUSINESS_RULE_TEXT = "resource cannot be accessed due to business rule"

# seeds/004: every OperationOutcome example, in the document's order
OO_DUPLICATE = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "duplicate",
    "details": {
      "text": "Found duplicate resource: Encounter"
    }
  }]
}"""

OO_R10001_CODE_NOT_FOUND = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Code not found: 'xxx' in system: http://terminology.hl7.org/CodeSystem/v3-ActCode (RuleNumber: 10001)"
    },
    "expression": [
      "Encounter.class.code"
    ]
  }]
}"""

OO_R10132_DATE_FORMAT = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "format",
    "details": {
      "text": "Invalid date time format : 2022-06-14 (RuleNumber: 10132). Format allowed : YYYY-MM-DDThh:mm:ss+00:00"
    },
    "expression": [
      "Composition.date"
    ]
  }]
}"""

OO_R10132_DATE_VALUE = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Invalid date time value : 2021-06-02T12:28:03Z (RuleNumber: 10132) Not Allowed : Future Date or Past Date older than 31st August 2022"
    },
    "expression": [
      "Composition.date"
    ]
  }]
}"""

OO_R10124_REFERENCE = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Reference is mandatory : Encounter.serviceProvider (RuleNumber: 10124)"
    },
    "expression": [
      "Encounter.serviceProvider"
    ]
  }]
}"""

OO_R10002_CODING_SYSTEM = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Invalid coding system: http://xxx.org (RuleNumber: 10002)"
    },
    "expression": [
      "Encounter.participant[0].type[0].coding[0].system"
    ]
  }]
}"""

OO_R10263_ELEMENT_NOT_FOUND = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Element not found: Claim.insurance[0].focal (RuleNumber: 10263)"
    },
    "expression": [
      "Claim.insurance[0].focal"
    ]
  }]
}"""

OO_R10117_IDENTIFIER_SYSTEM = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Invalid identifier system: http://xxx.org (RuleNumber: 10117)"
    },
    "expression": [
      "Encounter.identifier[0].system"
    ]
  }]
}"""

OO_R10254_INTEGER_AS_STRING = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Integer formated as a string: 'Satu' (RuleNumber: 10254)"
    },
    "expression": [
      "Claim.supportingInfo[0].sequence"
    ]
  }]
}"""

OO_R10134_TEXT_EMPTY = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Text is empty: '' (RuleNumber: 10134)"
    },
    "expression": [
      "Composition.title"
    ]
  }]
}"""

OO_R10171_PATCH_LOCATION = b"""{
  "resourceType": "OperationOutcome",
  "text": {
    "status": "generated"
  },
  "issue": [{
    "severity": "error",
    "code": "value",
    "details": {
      "text": "Use /operationalStatus instead of /operationalStatus/system to patch Location (RuleNumber: 10171)"
    },
    "expression": [
      "Location.operationalStatus"
    ]
  }]
}"""

#: (body, code, rule_number, expression, text) for each example of seeds/004
OUTCOME_EXAMPLES = [
    (OO_DUPLICATE, "duplicate", None, ()),
    (OO_R10001_CODE_NOT_FOUND, "value", 10001, ("Encounter.class.code",)),
    (OO_R10132_DATE_FORMAT, "format", 10132, ("Composition.date",)),
    (OO_R10132_DATE_VALUE, "value", 10132, ("Composition.date",)),
    (OO_R10124_REFERENCE, "value", 10124, ("Encounter.serviceProvider",)),
    (
        OO_R10002_CODING_SYSTEM,
        "value",
        10002,
        ("Encounter.participant[0].type[0].coding[0].system",),
    ),
    (OO_R10263_ELEMENT_NOT_FOUND, "value", 10263, ("Claim.insurance[0].focal",)),
    (OO_R10117_IDENTIFIER_SYSTEM, "value", 10117, ("Encounter.identifier[0].system",)),
    (OO_R10254_INTEGER_AS_STRING, "value", 10254, ("Claim.supportingInfo[0].sequence",)),
    (OO_R10134_TEXT_EMPTY, "value", 10134, ("Composition.title",)),
    (OO_R10171_PATCH_LOCATION, "value", 10171, ("Location.operationalStatus",)),
]
