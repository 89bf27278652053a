"""What bench/ctranslate2/translate.py and score.py share: importing ctranslate2 with a message
that says which Python to use, and the vocabulary convert.py wrote (row i = maskwise's id i)."""

import json
import os
import sys


def import_ctranslate2(script):
    """The ctranslate2 module, or an exit naming `script` and the venv that has it."""
    try:
        import ctranslate2
    except ImportError:
        sys.exit(
            f"{script}: ctranslate2 is not importable (python): run it with the venv "
            "bench/ctranslate2/build.sh made, e.g. /work/ct2/venv/bin/python"
        )
    return ctranslate2


def read_vocabulary(model_dir, script):
    """The converted model's token list, or an exit naming `script` and the directory."""
    for name in ("shared_vocabulary.json", "target_vocabulary.json", "vocabulary.json"):
        path = os.path.join(model_dir, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                return json.load(f)
    sys.exit(f"{script}: no vocabulary json ({model_dir}): convert the model with convert.py")
