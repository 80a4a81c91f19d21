"""A script's fields as an operator writes them: the list's own column titles."""

from __future__ import annotations

from callcenter.app.scripts import render


def test_fields_named_like_the_lead_files_columns_are_filled() -> None:
    lead = {"name": "张伟", "Car Model": "Model 3", "车型（品牌）": "特斯拉", "保单号/车牌": "京A1"}
    body = "{lead.name}您好，您的{lead.车型（品牌）} {lead.Car Model}（{lead.保单号/车牌}）"

    rendered = render(body, lead, {})

    assert rendered.text == "张伟您好，您的特斯拉 Model 3（京A1）"
    assert rendered.missing == []


def test_a_field_the_lead_lacks_is_listed_whatever_its_name() -> None:
    rendered = render("{lead.到期 日期}、{lead.e-mail}与{product.name}", {}, {"name": "车险"})

    assert rendered.text == "{lead.到期 日期}、{lead.e-mail}与车险"
    assert rendered.missing == ["{lead.到期 日期}", "{lead.e-mail}"]


def test_braces_that_are_not_fields_stay_plain_text() -> None:
    body = '{"json": 1} {lead.} {lead. } {other.name} {lead.{name}} {lead.name'

    rendered = render(body, {"name": "张伟"}, {})

    assert rendered.text == body
    assert rendered.missing == []


def test_doubled_braces_are_one_field_and_leave_no_brace_behind() -> None:
    rendered = render("{{lead.name}}您好，{{ lead.name }}{{lead.vip}}", {"name": "张伟"}, {})

    assert rendered.text == "张伟您好，{{ lead.name }}{{lead.vip}}"
    assert rendered.missing == ["{{lead.vip}}"]


def test_a_lead_value_that_looks_like_a_field_is_shown_as_written() -> None:
    lead = {"name": "{lead.phone}<script>alert(1)</script>", "phone": "+8613800138000"}

    rendered = render("{lead.name}您好", lead, {})

    assert rendered.text == "{lead.phone}<script>alert(1)</script>您好"
    assert rendered.missing == []
