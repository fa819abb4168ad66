"""Tests of the Gradio console (ui/)."""
