"""The fast list field gives exactly what the general marshmallow path gives."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError, fields, validate

from service import schemas


class GeneralPath(schemas.EventSchema):
    tags = fields.List(
        schemas.Text(validate=[schemas._length(1, 100), schemas._slug]), validate=validate.Length(max=50)
    )
    actors = fields.List(schemas.Text(validate=schemas._length(1, 100)), validate=validate.Length(max=50))
    timelines = fields.List(
        schemas.Text(validate=[schemas._length(1, 100), schemas._slug]), validate=validate.Length(max=50)
    )


def _load(schema, data):
    try:
        return "ok", schema.load(data)
    except ValidationError as exc:
        return "error", exc.messages


@pytest.mark.parametrize(
    "value",
    [
        ["war", "peace"],
        ["War"],
        [" war "],
        ["a" * 100],
        ["a" * 101],
        [""],
        ["  "],
        ["ok", 3],
        ["x\x00"],
        [None],
        "war",
        None,
        {"a": 1},
        ["-bad"],
        ["ok"] * 50,
        ["ok"] * 51,
        ["é"],
        ["a\nb"],
        [],
        ["a b", "Émile Zola"],
        [" " * 3 + "x" * 100 + " "],
        ["x\x7f"],
        [True],
        [[]],
    ],
)
@pytest.mark.parametrize("field", ["tags", "actors", "timelines"])
def test_text_list_matches_the_general_path(field, value):
    data = {"date": "2021", "title": "t", field: value}
    assert _load(schemas.EventSchema(), data) == _load(GeneralPath(), data)
