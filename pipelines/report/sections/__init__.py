"""The report's sections, one module each; ``pipelines.report.content`` puts them together."""
