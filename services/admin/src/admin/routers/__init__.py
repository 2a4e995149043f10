"""The admin JSON API's routers, mounted under ``/api`` behind the admin check
(``admin.app``): a router added here is protected without declaring anything itself."""

from __future__ import annotations

from fastapi import APIRouter

from . import audit, pool

PROTECTED: tuple[APIRouter, ...] = (pool.router, audit.router)
