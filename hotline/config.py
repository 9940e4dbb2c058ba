"""Where the hotline's process bundle and settings live in this repository: the diagrams,
decision table and YAML settings in processes/, the task forms in forms/."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCESSES_DIR = ROOT / "processes"
FORMS_DIR = ROOT / "forms"
MAIN_PROCESS = "appeal_handling"
