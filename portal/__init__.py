"""Branch Pilot Portal (企微试点陪跑门户)."""

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
