"""Report formats as plain data: the JSON document and SARIF 2.1.0. The table for people
is drawn by the CLI."""

from shipway.scanner.formats.document import finding_data, report_document
from shipway.scanner.formats.sarif import sarif_document

__all__ = ["finding_data", "report_document", "sarif_document"]
