"""The one error the pattern language raises: an invalid pattern, with AWS's reason text."""

from __future__ import annotations


class InvalidEventPattern(Exception):
    """A pattern AWS would reject.

    ``message`` is AWS's reason exactly as its pattern engine words it (for example
    ``Empty arrays are not allowed``), without any service prefix. ``location`` is what the
    engine appends for errors found while reading the JSON: ``"\\n at [Source: (String)"...";
    line: 1, column: N]"`` (once, or twice for errors inside a value list, as AWS does), or
    ``""`` for errors found later (CIDR, wildcard complexity). ``raw_message`` is both.

    What callers add (the services own the wording):

    - EventBridge (PutRule, TestEventPattern): ``InvalidEventPatternException`` (400),
      message ``"Event pattern is not valid. Reason: " + raw_message``.
    - SNS filter policies: ``InvalidParameter`` (400),
      ``"Invalid parameter: Attributes Reason: FilterPolicy: " + raw_message``.
    - Lambda event source mappings (FilterCriteria): ``InvalidParameterValueException``
      (400) ``"Invalid filter pattern definition."``, with no reason at all.
    """

    message: str
    location: str

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(message + location)
        self.message = message
        self.location = location

    @property
    def raw_message(self) -> str:
        """The reason followed by the JSON source location, as AWS's engine reports it."""
        return self.message + self.location
