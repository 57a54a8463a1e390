"""Report formats: the JSON document, SARIF 2.1.0, the HTML page, the CycloneDX SBOM
(`formats.sbom`, imported when asked for). The table for people is drawn by the CLI."""

from shipway.scanner.formats.document import finding_data, report_document
from shipway.scanner.formats.html import html_report
from shipway.scanner.formats.sarif import sarif_document

__all__ = ["finding_data", "html_report", "report_document", "sarif_document"]
