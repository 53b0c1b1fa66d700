"""Your data in and out: the export, and imports from grau, Strong and Hevy."""
