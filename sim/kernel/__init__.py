"""The simulation kernel: the event loop (:mod:`.engine`), the light events of the hot path
(:mod:`.scheduling`) and the process class the engine starts (:mod:`.process`). The only package that touches SimPy's private names (``_ok``, ``_value``,
``_queue``, ``_eid``, ``_now``, ``_active_proc``, setting ``callbacks``); components use its named
helpers instead, and ``tests/test_architecture.py`` holds that line. On a SimPy upgrade, re-run
``tests/test_engine.py`` and the results digests."""
