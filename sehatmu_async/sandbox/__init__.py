"""A local SehatMu server speaking the API of ``api.md``, with fault injection.

An independent implementation of the wire protocol: nothing here is shared with the
client SDK, so the SDK's tests against it check two readings of the same documents.

Sandbox conventions the real platform has no equivalent for:

* a NIK (own or mother's) starting with ``0000`` is "not a citizen": creating such a
  Patient answers "Citizen Not Exists";
* ``SandboxFaults`` injects latency, 5xx text/plain answers, 429 with ``Retry-After``,
  dropped connections, slow creates and token revocation.

```python
async with Sandbox() as sb:
    ...  # sb.url, sb.client_id, sb.client_secret, sb.faults, sb.counters
```
"""

from ._access_log import PathOnlyAccessLogger
from ._counters import SandboxCounters
from ._faults import SandboxFaults
from ._server import Sandbox, make_app

__all__ = ["PathOnlyAccessLogger", "Sandbox", "SandboxCounters", "SandboxFaults", "make_app"]
