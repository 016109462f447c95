"""Datasets: the built-in world (images and videos), sklearn's digits, and more data sources.
Submodules are imported on use, so `import genlab.data` stays cheap.
"""
