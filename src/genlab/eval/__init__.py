"""Evaluation: feature networks, FID/KID/IS, CLIP score, the compositional suite, human preference
ratings and the `genlab eval` report. Heavy parts are imported lazily by their modules.
"""
