"""Pipelines: prompt in, images or video out, with the same argument names as diffusers."""
