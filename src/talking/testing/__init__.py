"""The harness shared by the test suite and the benchmarks: a real `talking serve` in another
process, fresh migrated databases, and a published survey to answer.

Never imported by the service itself. The PostgreSQL helpers need the ``dev`` extras (psycopg);
everything else needs only what the service needs, so a benchmark runs without the test tools.

- ``talking.testing.server``: ``free_port``, ``LiveServer``, ``live_server``
- ``talking.testing.databases``: ``migrate_up``, ``Database``, ``postgres_database``, ``fresh_database``
- ``talking.testing.surveys``: ``DEMO_ISSUES``, ``publish_survey``, ``publish_survey_at``
- ``talking.testing.invitations``: ``publish_members_survey``, ``invite``, ``invite_many`` (and ``_at``
  forms for code with no event loop): members surveys and invitations to them, as stored
- ``talking.testing.staff_storm``: ``prepare``, ``storm``, ``stored``: staff actions at once (needs httpx)
"""
