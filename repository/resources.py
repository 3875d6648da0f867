"""Where the shipped data files live: schemas (metadata/), BagIt profiles (profiles/) and package data."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
DATA_DIR = PACKAGE_DIR / "data"
METADATA_DIR = PROJECT_DIR / "metadata"
PROFILES_DIR = PROJECT_DIR / "profiles"

NAMESPACE = "urn:hsar:archive:1"
SCHEMA_VERSION = "1.0"
XSD_PATH = METADATA_DIR / f"hsar-archive-{SCHEMA_VERSION}.xsd"
SCHEMATRON_PATH = METADATA_DIR / f"hsar-archive-{SCHEMA_VERSION}.sch"
