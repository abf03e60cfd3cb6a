"""Each model declared once (issue 10.2): every field of every model crosses the wire and
comes back, found by introspection, so a field added tomorrow is covered too; a field the
wire does not know fails loudly instead of vanishing."""

from __future__ import annotations

import ast
import types
import typing
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import sehatmu_async
from sehatmu_async import Patient
from sehatmu_async._converter import converter
from sehatmu_async._patient_models import PATIENT_MODELS
from sehatmu_async._wire_fields import WIRE, Kind, extra, wire, wire_model
from sehatmu_async._wire_plan import is_wire_model, prepare_wire_models

PACKAGE = Path(sehatmu_async.__file__).parent


def _members(annotation: Any) -> list[Any]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(annotation) if a is not type(None)]
    return [annotation]


def _all_models() -> list[type]:
    """Every wire model reachable from the package's public names."""
    found: list[type] = []
    todo = [obj for obj in vars(sehatmu_async).values() if is_wire_model(obj)]
    while todo:
        cls = todo.pop()
        if cls in found:
            continue
        found.append(cls)
        for annotation in typing.get_type_hints(cls).values():
            for member in _members(annotation):
                inner = typing.get_args(member)[0] if typing.get_origin(member) is list else member
                if is_wire_model(inner):
                    todo.append(inner)
    return found


MODELS = _all_models()


def _sample(tp: Any, name: str, pick: int) -> Any:
    if typing.get_origin(tp) is list:
        return [_sample(typing.get_args(tp)[0], name, pick)]
    samples: dict[Any, Any] = {
        str: f"{name}-text",
        bool: True,
        int: 7,
        date: date(2001, 2, 3),
        datetime: datetime(2001, 2, 3, 4, 5, 6, tzinfo=timezone.utc),
    }
    if tp in samples:
        return samples[tp]
    assert is_wire_model(tp), f"no sample for {tp!r}: teach this test the new type"
    return _full(tp, pick)


def _full(cls: type, pick: int = 0) -> Any:
    """An instance with every field set; ``pick`` chooses each choice element's alternative."""
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for field in attrs.fields(cls):
        kind = field.metadata[WIRE].kind
        members = _members(hints[field.name])
        if kind is Kind.EXTRA:
            kwargs[field.name] = {"unknownKey": [1, {"kept": None}], "_text": {"id": "x"}}
        elif kind is Kind.OTHER_EXTENSIONS:
            kwargs[field.name] = [{"url": "https://example.org/ext/x", "valueString": "v"}]
        elif kind is Kind.CHOICE:
            kwargs[field.name] = _sample(members[pick % len(members)], field.name, pick)
        else:
            (member,) = members
            kwargs[field.name] = _sample(member, field.name, pick)
    return cls(**kwargs)


def test_every_public_model_is_registered() -> None:
    assert Patient in MODELS
    assert set(MODELS) <= set(PATIENT_MODELS)


@pytest.mark.parametrize("pick", [0, 1])
@pytest.mark.parametrize("cls", MODELS, ids=lambda cls: cls.__name__)
def test_every_field_of_every_model_survives_the_wire(cls: type, pick: int) -> None:
    original = _full(cls, pick)
    for field in attrs.fields(cls):
        assert getattr(original, field.name) not in (None, [], {}), field.name
    wire_form = converter.unstructure(original)
    assert converter.structure(wire_form, cls) == original
    if cls is Patient:
        assert Patient.from_wire(original.to_wire()) == original


def test_choice_alternatives_each_have_their_key() -> None:
    keys = {k for pick in (0, 1) for k in _full(Patient, pick).to_wire()}
    assert {"deceasedBoolean", "deceasedDateTime"} <= keys
    assert {"multipleBirthBoolean", "multipleBirthInteger"} <= keys


def test_a_field_without_wire_metadata_fails_loudly() -> None:
    @wire_model()
    @attrs.frozen(kw_only=True)
    class Thing:
        known: str | None = wire()
        added: str | None = None
        extra: dict[str, Any] = extra()

    with pytest.raises(TypeError, match=r"Thing\.added has no wire metadata"):
        converter.unstructure(Thing(known="x", added="y"))
    with pytest.raises(TypeError, match=r"Thing\.added"):
        prepare_wire_models(Thing)


def test_a_subclass_adding_a_plain_field_fails_loudly() -> None:
    @attrs.frozen(kw_only=True)
    class MyPatient(Patient):
        nickname: str | None = None

    with pytest.raises(TypeError, match=r"MyPatient\.nickname has no wire metadata"):
        converter.unstructure(MyPatient(nickname="Budi"))


def test_a_field_of_a_type_without_wire_form_fails_loudly() -> None:
    @wire_model()
    @attrs.frozen(kw_only=True)
    class Weighed:
        weight: float | None = wire()
        extra: dict[str, Any] = extra()

    with pytest.raises(TypeError, match=r"Weighed\.weight: the SDK has no wire form"):
        prepare_wire_models(Weighed)


def test_a_model_without_extra_fails_loudly() -> None:
    @wire_model()
    @attrs.frozen(kw_only=True)
    class Lossy:
        known: str | None = wire()

    with pytest.raises(TypeError, match="extra"):
        prepare_wire_models(Lossy)


def _top_level_imports(path: Path) -> set[str]:
    """Modules of the package imported at module level (not under TYPE_CHECKING)."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if path.name != "__init__.py" else module
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def test_the_model_modules_import_no_circle() -> None:
    # 0.1.0: _converter imported _patient_models (mid-file) and the models imported the
    # converter inside their methods.
    names = ["_converter", "_wire_plan", "_wire_fields", "_payload", "_patient_datatypes"]
    graph = {n: _top_level_imports(PACKAGE / f"{n}.py") for n in names}
    for name, imports in graph.items():
        assert "sehatmu_async._patient_models" not in imports, name
    assert "sehatmu_async._converter" not in graph["_wire_plan"]
    assert "sehatmu_async._converter" not in graph["_wire_fields"]
    for name in [*names, "_patient_models", "_patch"]:
        source = (PACKAGE / f"{name}.py").read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.Import, ast.ImportFrom))]
                assert not inner, f"{name}.{node.name} imports inside a function"
