"""The analysis report: figures from warehouse tables (figures.py), the notebook runner (report.py)."""
