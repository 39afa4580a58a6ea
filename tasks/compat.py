"""What the pinned Prefect (3.8.8) needs worked around, in one place; each says when it can go.

Artifacts in async flow runs. Prefect's artifact functions (`create_table_artifact`,
`create_markdown_artifact`, `create_progress_artifact`, `update_progress_artifact`) are wrapped
in its `async_dispatch`: called in an async flow run (the delta flow) they return a coroutine
instead of creating the artifact, unless the wrapper's own `_sync=True` keyword says otherwise.
:func:`now` is the one place that passes it. It can go when Prefect's artifact functions are plain
sync functions (3.8.8's `prefect.artifacts` marks the wrapper for removal), or when the async
flows await the `a`-prefixed forms themselves.
"""

from __future__ import annotations

from typing import Any, Callable


def now(artifact_function: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call one of Prefect's artifact functions and have it done now, in sync and async runs alike."""
    return artifact_function(**kwargs, _sync=True)
