"""Run every benchmark under bench/ (or the ones named): `python bench/run_all.py [name ...]`.

Each benchmark is a script bench/<name>.py that prints its figures and never asserts."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(names: list[str]) -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.name not in ("run_all.py", "__init__.py")
                     and not p.name.startswith("_"))
    if names:
        scripts = [p for p in scripts if p.stem in names]
    status = 0
    for script in scripts:
        print(f"== {script.stem} ==", flush=True)
        status |= subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
