"""One settings object, read from PORTAL_* environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PORTAL_", extra="ignore")

    database_url: str = Field(
        default="",
        description="SQLAlchemy URL; empty means an SQLite file under data_dir.",
    )
    data_dir: Path = Path("data")
    sqlite_busy_timeout_ms: int = 15_000
    pool_size: int = 5
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    lockout_threshold: int = 5
    lockout_minutes: int = 15
    default_language: str = "zh"
    # Cookie flag for the persistent-login cookie; set true behind HTTPS.
    cookie_secure: bool = False
    upload_max_bytes: int = 10 * 1024 * 1024
    # Where staff reach the portal (e.g. https://pilot.bank.example); when set, the ranking the
    # WeCom robot posts links to the phone ranking page there.
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/?#]+(/[^\s?#]*)?)?$")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = self.data_dir.resolve() / "portal.db"
        return f"sqlite:///{path}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
