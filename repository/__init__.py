"""hsar: a digital-preservation repository for housing-security archives (住房保障档案)."""

__version__ = "0.1.0"
SOFTWARE = f"hsar {__version__}"
