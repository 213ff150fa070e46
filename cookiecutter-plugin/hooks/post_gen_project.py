"""Keep the chosen stage's example and its tests; drop the other stages."""

import shutil
from pathlib import Path

STAGE = "{{ cookiecutter.stage }}"
PACKAGE = "{{ cookiecutter.package_name }}"
ENTRY_POINT = "{{ cookiecutter.entry_point }}"

project = Path.cwd()
stages = project / "stages"
chosen = stages / STAGE
if not chosen.is_dir():
    raise SystemExit(f"stage {STAGE!r}: expected one of {sorted(p.name for p in stages.iterdir())}")
package = project / "src" / PACKAGE
package.mkdir(parents=True, exist_ok=True)  # git keeps no empty directory in the template
(chosen / "plugin.py").replace(package / "__init__.py")
(chosen / "test_plugin.py").replace(project / "tests" / f"test_{ENTRY_POINT}.py")
shutil.rmtree(stages)
