"""Reusable test helpers (real servers, fixtures) shared by the test areas."""
