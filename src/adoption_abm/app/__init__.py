"""The Solara app: ``solara run adoption_abm.app`` serves :func:`.page.Page` and its routes."""

from .page import Layout, OddPage, Page, Simulation, play, routes

__all__ = ["Layout", "OddPage", "Page", "Simulation", "play", "routes"]
