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
EXPOSE 8000
CMD ["assigner", "serve", "--host", "0.0.0.0", "--port", "8000"]
