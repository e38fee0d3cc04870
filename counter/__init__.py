"""The asesor's módulo desk (``/counter``) and the citizen's rating screen beside it."""
