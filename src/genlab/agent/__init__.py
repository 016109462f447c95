"""The multi-modal generation agent: tools over the pipelines, a bounded loop, LLM backends
(offline planner, Anthropic, OpenAI-compatible) and Idea2Img-style iterative refinement.
"""

from genlab.agent.session import BACKENDS, AgentOutcome, AgentSession, run_agent  # noqa: F401
