FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY assigner ./assigner
COPY api ./api
COPY scenarios ./scenarios
COPY benchmarks ./benchmarks
COPY cli ./cli
RUN pip install --no-cache-dir .
RUN useradd --create-home assigner
USER assigner
WORKDIR /home/assigner
# The search's numba code, compiled once here into a cache the service user owns.
ENV NUMBA_CACHE_DIR=/home/assigner/.numba-cache
RUN python -c "from assigner.search.warm_up import warm_up; warm_up()"
EXPOSE 8000
CMD ["assigner", "serve", "--host", "0.0.0.0", "--port", "8000"]
