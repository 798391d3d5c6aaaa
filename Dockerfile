# Deblur Studio in a container, after Streamlit's Docker deployment recipe.
#   docker build -t deblur-studio .
#   docker run --rm -p 8501:8501 deblur-studio      # then open http://localhost:8501
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# curl for the health check only. opencv-python-headless needs no libGL, and imageio-ffmpeg
# brings its own ffmpeg binary.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

# The app runs as an ordinary user. Models trained or imported in the app go to a folder in its
# home; mount a volume there to keep them: docker run -v deblur-models:/home/deblur/models ...
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin deblur \
    && mkdir -p /home/deblur/models \
    && chown deblur:deblur /home/deblur/models
ENV DEBLUR_STUDIO_MODELS=/home/deblur/models

WORKDIR /app

# Dependencies first, so that editing the code does not reinstall TensorFlow.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# The project stays owned by root: the app reads its code and shipped models but cannot change them.
# Only runs/ (training progress and logs) is writable.
COPY . .
RUN mkdir -p runs && chown deblur:deblur runs

USER deblur

EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl --fail http://localhost:8501/_stcore/health || exit 1

ENTRYPOINT ["python", "-m", "studio.serve", "--server.port=8501", "--server.address=0.0.0.0"]
