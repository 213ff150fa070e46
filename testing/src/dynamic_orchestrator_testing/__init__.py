"""Test helpers for Dynamic Orchestrator's plugins, shipped with the core for plugin authors.

- :mod:`.pytest_plugin`: the fixtures ``plugin_manager``, ``register_plugin``,
  ``echo_provider``, ``fake_provider_server`` and ``make_orchestrator``, active in any
  project where the core is installed (a ``pytest11`` entry point);
- :mod:`.fakes`: :class:`~.fakes.EchoProvider`, a deterministic in-process provider with
  scripted failures;
- :mod:`.fake_server`: :class:`~.fake_server.FakeProviderServer`, a local HTTP server
  speaking the OpenAI, Anthropic and Gemini wire formats, with scripted faults;
- :mod:`.sink_cases`: known records and the hand-worked summary every metrics sink must give.

Documented for authors in ``docs/plugins/testing.md``.
"""
