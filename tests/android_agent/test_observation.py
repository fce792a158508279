"""Hierarchy dumps -> the elements a model sees, and their compact text form."""

from __future__ import annotations

import pytest

from android_agent.errors import DeviceError
from android_agent.observation import (
    Element,
    describe_elements,
    element_at,
    normalized_point,
    parse_hierarchy,
    visible_center,
)

SIZE = (1080, 2400)


def node(attrs: str = "", children: str = "", *, cls: str = "android.widget.TextView",
         bounds: str = "[0,0][100,100]", visible: str | None = "true") -> str:
    visibility = f'visible-to-user="{visible}" ' if visible is not None else ""
    return (f'<node index="0" class="{cls}" package="com.infir.contacts" bounds="{bounds}" '
            f'{visibility}{attrs}>{children}</node>')


def dump(*nodes: str) -> str:
    body = "".join(nodes)
    return f"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation=\"0\">{body}</hierarchy>"


CONTACTS = dump(node(
    'resource-id="android:id/content"',
    node('clickable="true"', node('text="Alice Smith"') + node('text="555-0101"'),
         cls="android.widget.LinearLayout", bounds="[0,200][1080,360]")
    + node('clickable="true"', node('content-desc="Bob Jones"', cls="android.widget.ImageView"),
           cls="android.widget.LinearLayout", bounds="[0,360][1080,520]")
    + node('clickable="true" content-desc="Add contact" resource-id="com.infir.contacts:id/add"',
           cls="android.widget.ImageButton", bounds="[900,2200][1060,2360]"),
    cls="android.widget.FrameLayout", bounds="[0,0][1080,2400]",
))


def test_clickable_row_takes_the_text_of_its_labels():
    elements = parse_hierarchy(CONTACTS)
    assert [(e.class_name, e.text) for e in elements][:1] == [("LinearLayout", "Alice Smith 555-0101")]


def test_absorbed_labels_are_not_listed_separately():
    texts = [e.text for e in parse_hierarchy(CONTACTS)]
    assert "Alice Smith" not in texts and "555-0101" not in texts


def test_descendant_descriptions_become_the_row_description():
    row = parse_hierarchy(CONTACTS)[1]
    assert (row.text, row.description) == ("", "Bob Jones")


def test_ids_follow_document_order():
    elements = parse_hierarchy(CONTACTS)
    assert [e.id for e in elements] == [0, 1, 2]
    assert elements[2].resource_id == "com.infir.contacts:id/add"


def test_layout_only_nodes_are_dropped():
    assert all(e.class_name != "FrameLayout" for e in parse_hierarchy(CONTACTS))


def test_invisible_and_empty_nodes_are_dropped():
    xml = dump(node('text="hidden"', visible="false"), node('text="no area"', bounds="[10,10][10,50]"),
               node('text="shown"'))
    assert [e.text for e in parse_hierarchy(xml)] == ["shown"]


def test_missing_visibility_attribute_means_visible():
    xml = dump(node('text="old dump"', visible=None))
    assert [e.text for e in parse_hierarchy(xml)] == ["old dump"]


def test_nested_actionable_children_stay_separate():
    xml = dump(node('clickable="true"', node('text="Wi-Fi"') + node('checkable="true" checked="true"',
                                                                     cls="android.widget.Switch"),
                    cls="android.widget.LinearLayout", bounds="[0,0][1080,200]"))
    row, switch = parse_hierarchy(xml)
    assert (row.text, switch.class_name, switch.checked) == ("Wi-Fi", "Switch", True)


def test_flags_and_editable_class():
    xml = dump(node('text="" focused="true" password="true" long-clickable="true" enabled="false"',
                    cls="android.widget.EditText"))
    (field,) = parse_hierarchy(xml)
    assert field.editable and field.focused and field.password and field.long_clickable and not field.enabled


def test_malformed_xml_is_a_device_error():
    with pytest.raises(DeviceError, match="unreadable hierarchy"):
        parse_hierarchy("<hierarchy><node></hierarchy>")


def test_doctype_and_entities_are_refused():
    xml = '<?xml version="1.0"?><!DOCTYPE h [<!ENTITY x "boom">]><hierarchy>' + node('text="&x;"') + "</hierarchy>"
    with pytest.raises(DeviceError, match="DOCTYPE"):
        parse_hierarchy(xml)


def test_root_must_be_a_hierarchy():
    with pytest.raises(DeviceError, match="expected <hierarchy>"):
        parse_hierarchy("<html><body/></html>")


def button(id: int, text: str = "", **flags) -> Element:
    return Element(id=id, class_name="Button", resource_id="", text=text, description="",
                   bounds=flags.pop("bounds", (0, 0, 1080, 240)), **flags)


def test_describe_line_format():
    line = describe_elements([button(3, "Save", clickable=True, bounds=(0, 2000, 1080, 2200))], SIZE)
    assert line == '[3] Button "Save" click (500,875)'


def test_describe_shows_only_true_flags_and_check_state():
    elements = [button(0, "A", checkable=True), button(1, "B", checkable=True, checked=True, scrollable=True)]
    lines = describe_elements(elements, SIZE).splitlines()
    assert lines[0].endswith("check=off (500,50)") and "check=on scroll" in lines[1]


def test_describe_masks_passwords_and_cuts_long_text():
    lines = describe_elements([button(0, "hunter2", password=True), button(1, "x" * 500)], SIZE).splitlines()
    assert "hunter2" not in lines[0] and '"***"' in lines[0]
    assert "…" in lines[1] and len(lines[1]) < 120


def test_describe_keeps_each_element_on_one_line():
    assert describe_elements([button(0, "two\nlines  here")], SIZE) == '[0] Button "two lines here" (500,50)'


def test_describe_names_icons_by_resource_id():
    icon = Element(0, "ImageButton", "com.app:id/send", "", "", (0, 0, 100, 100), clickable=True)
    assert " id=send click " in describe_elements([icon], SIZE)


def test_describe_keeps_actionable_elements_past_the_limit():
    elements = [button(i, f"para {i}") for i in range(5)] + [button(5, "OK", clickable=True)]
    text = describe_elements(elements, SIZE, max_elements=2)
    assert text.splitlines() == ['[0] Button "para 0" (500,50)', '[5] Button "OK" click (500,50)',
                                 "... 4 more elements not shown"]


def test_normalized_point_inverts_the_pixel_conversion():
    assert normalized_point((0, 0), SIZE) == (0, 0)
    assert normalized_point((1079, 2399), SIZE) == (1000, 1000)


def test_visible_center_uses_the_on_screen_part():
    assert visible_center((0, 2200, 1080, 2800), SIZE) == (540, 2300)


def test_element_at_picks_the_smallest_hit():
    outer, inner = button(0, bounds=(0, 0, 1080, 500)), button(1, bounds=(100, 100, 200, 200))
    assert element_at([outer, inner], (150, 150)) is inner
    assert element_at([outer, inner], (1000, 1000)) is None
