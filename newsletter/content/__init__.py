"""content: reading and validating the author's files (located YAML, schema, config, taxonomy and
variants, issue, subscribers, addresses, header-value hygiene). Imports only `newsletter.errors`."""
