"""Client access: who may call the API (``guard``), the client keys it checks
(``directory``), the per-key limits in shared hot state (``limits``) and the account of
each admitted request (``meter``)."""
