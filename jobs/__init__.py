"""Entry points: the ``pesquisa`` CLI and the batch jobs it runs."""
