"""Reports: what a run or a comparison writes for people (HTML, Markdown, plots) and machines."""
