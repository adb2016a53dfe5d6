"""The one XML-safety guard: parse untrusted XML (GPX, KML, WPML, OSM) with :mod:`defusedxml`.

No DTD, no entity declarations, no external references (``forbid_dtd``, ``forbid_entities``,
``forbid_external``), so parsing never expands an entity nor opens a file or URL; malformed or
absurdly nested XML is a :class:`~ecopatrol.core.errors.FormatError` naming the file.
"""

from __future__ import annotations

from ecopatrol.core.errors import FormatError


def parse_xml_safe(data: bytes | str, *, file: str, what: str = "XML", hostile_why: str = "", hostile_fix: str = "",
                   malformed_fix: str = ""):
    """The root element of ``data``; refused (:class:`FormatError` naming ``file``) when it declares
    a DOCTYPE or entities, references external resources, is not well-formed or nests deeper than
    the interpreter allows. ``hostile_why`` says why such XML is refused; ``hostile_fix`` /
    ``malformed_fix`` end the messages with what to do."""
    import xml.etree.ElementTree as ET

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import fromstring

    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FormatError(f"`{file}`: {what} with a DOCTYPE/ENTITY declaration or an external reference is refused "
                          f"({type(exc).__name__}{hostile_why}){hostile_fix}") from exc
    except ET.ParseError as exc:
        raise FormatError(f"`{file}`: not well-formed {what} ({exc}){malformed_fix}") from exc
    except (ValueError, RecursionError) as exc:  # e.g. nesting deeper than the interpreter allows
        raise FormatError(f"`{file}`: {what} that cannot be parsed safely ({type(exc).__name__}: {exc})") from exc
