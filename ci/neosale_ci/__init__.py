"""NeoSale CI: the NEOSALE platform's pipeline as a Dagger module."""

from .main import Neosale, TrivyScan

__all__ = ["Neosale", "TrivyScan"]
