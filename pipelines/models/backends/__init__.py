"""One module per model back-end; :mod:`pipelines.models.registry` imports every module here and
registers each :class:`~pipelines.models.base.ModelBackend` subclass that declares a ``key``."""
