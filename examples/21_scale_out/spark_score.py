"""Score the registered wine model on Spark with mlflow.pyfunc.spark_udf, next to pandas.

Batch scoring: the model behind ``models:/wine_quality@champion`` predicts many
wines at once. ``mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="local",
result_type="double")`` turns the model into a Spark pandas UDF: Spark splits
the rows into partitions, and each task's Python worker loads the model once and
predicts Arrow batches of rows. The same rows are also scored the plain way,
``mlflow.pyfunc.load_model(model_uri).predict(df)`` in one pandas process, and
the run records how many rows per second each managed.

- The model: ``--model-uri`` (default ``models:/NAME@champion``, NAME from
  ``--model-name``). If that default has no champion yet, the script registers
  one first, with chapter 08's lines (log_model, register_model, the alias).
- The rows: ``--rows`` wines drawn from the 1,599 with a fixed seed, each
  measurement times (1 + 1 % noise), written as ``--partitions`` Parquet files
  (Spark reads one task per file). ``--input`` scores an existing Parquet
  dataset instead. Several ``--rows`` values score each size in turn in one
  Spark session: the benchmark in the README.
- The run (experiment ``scale_out``): params rows, partitions, master, model
  URI and version; metrics ``spark_rows_per_second`` and
  ``pandas_rows_per_second`` (step = rows) and ``spark_startup_seconds``; the
  input and the predictions as datasets (``mlflow.log_input``, contexts
  ``input`` and ``output``), each a Parquet folder Spark can load again.

``--master`` is ``local[2]``: Spark inside this process's machine, 2 cores. A
cluster's ``spark://host:7077`` (or ``yarn``) runs the same code; only the
loopback settings below are for a local master. Spark needs Java 17.

    python examples/21_scale_out/spark_score.py --rows 1000000
    python examples/21_scale_out/spark_score.py --rows 100000 1000000 10000000   # the benchmark

Everything written goes under ``--output-dir`` (default ``scale_out_files/``);
Spark's own scratch folders live in a temporary folder that is removed.
"""

import argparse
import contextlib
import hashlib
import os
import shutil
import signal
import sys
import tempfile
import time
import warnings
from importlib.metadata import version
from pathlib import Path

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import numpy as np
import pandas as pd
import pyarrow.dataset
from mlflow import MlflowClient
from mlflow.data.meta_dataset import MetaDataset
from mlflow.data.spark_dataset_source import SparkDatasetSource
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.types import ColSpec, Schema
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"
NOISE = 0.01  # each drawn measurement is multiplied by 1 + N(0, 1 %)
CHAMPION_SETTINGS = {"alpha": 0.1, "l1_ratio": 0.9}  # chapter 08's demo ends with this champion
JAVA_HINT = (
    "Spark needs Java 17: no `java` on PATH and no JAVA_HOME (Debian/Ubuntu: apt-get install openjdk-17-jre-headless)"
)

# Spark logs through log4j2 at INFO/WARN by default: a screenful per session. Errors only.
# (Spark prints "Setting default log level" unless the root and org.apache levels agree.)
LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.console.ref = console
logger.apache.name = org.apache
logger.apache.level = error
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def registered_model_name(text):
    """MLflow refuses '/' and ':' only when it registers; quotes would break the search filter."""
    if not text.strip() or any(char in text for char in "/:'\""):
        raise argparse.ArgumentTypeError(f"{text!r} is not a registered model name (no / : or quotes)")
    return text


def row_count(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="scale_out", help="(default: %(default)s)")
    parser.add_argument(
        "--model-name",
        type=registered_model_name,
        default="wine_quality",
        help="registered model (default: %(default)s)",
    )
    parser.add_argument("--model-uri", help="model to score with (default: models:/MODEL_NAME@champion)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--rows", type=row_count, nargs="+", default=[1_000_000], help="wines (default: 1000000)")
    source.add_argument("--input", help="score this Parquet file or folder instead of generated wines")
    parser.add_argument("--partitions", type=row_count, default=4, help="Parquet files, Spark tasks (default: 4)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the drawn rows and their noise (default: 42)")
    parser.add_argument("--master", default="local[2]", help="Spark master (default: local[2]; spark://host:7077)")
    parser.add_argument("--output-dir", default="scale_out_files", help="(default: %(default)s)")
    return parser.parse_args()


def check_java():
    """Spark's driver is a JVM: say what to install before anything is recorded or started."""
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and os.access(os.path.join(java_home, "bin", "java"), os.X_OK)) and not shutil.which("java"):
        raise OSError(JAVA_HINT)


def champion_uri(model_name, experiment_name, wine):
    """``models:/NAME@champion``, registered here first (chapter 08's way) if NAME has no champion yet."""
    client = MlflowClient()
    uri = f"models:/{model_name}@champion"
    found = client.search_registered_models(filter_string=f"name = '{model_name}'")
    if found and "champion" in found[0].aliases:
        return uri

    train, _ = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    model = ElasticNet(random_state=42, **CHAMPION_SETTINGS).fit(train_x, train_y)
    mlflow.set_experiment(experiment_name)
    with mlflow.start_run(run_name="register-champion"):
        mlflow.log_params(CHAMPION_SETTINGS)
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )
    model_version = mlflow.register_model(model_info.model_uri, model_name).version
    client.set_registered_model_alias(model_name, "champion", model_version)
    print(f"{uri} did not exist: registered version {model_version} and made it the champion (as chapter 08 does)")
    return uri


def registry_version(model_uri):
    """The registry version a ``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` URI stands for, else ''."""
    name, _, rest = model_uri.removeprefix("models:/").partition("@")
    if model_uri.startswith("models:/") and rest:
        return MlflowClient().get_model_version_by_alias(name, rest).version
    name, _, number = model_uri.removeprefix("models:/").partition("/")
    return number if model_uri.startswith("models:/") and number.isdigit() else ""


def write_wine_rows(wine_x, rows, partitions, folder, seed):
    """``rows`` wines drawn with replacement, a little seeded noise on each, as ``partitions`` Parquet files."""
    rng = np.random.default_rng(seed)
    drawn = wine_x.to_numpy()[rng.integers(0, len(wine_x), size=rows)]
    drawn *= 1 + NOISE * rng.standard_normal(drawn.shape)
    table = pd.DataFrame(drawn, columns=wine_x.columns)
    table.insert(0, "row_id", np.arange(rows))  # a key, carried through to the predictions
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for part, chunk in enumerate(np.array_split(np.arange(rows), partitions)):
        table.iloc[chunk].to_parquet(folder / f"part-{part:05d}.parquet", index=False)


@contextlib.contextmanager
def said_once_about_pandas_3():
    """PySpark 4.3 warns (FutureWarning, up to four times) that it does not yet fully support pandas 3,
    which requirements.txt installs on Python >= 3.11. This chapter's double columns are unaffected (the
    tests compare every prediction with one computed by hand), so we say it once, in a line of our own;
    any other warning is shown as usual."""
    with warnings.catch_warnings(record=True) as caught:  # the filters stay as they are
        yield
    pandas_3 = [w for w in caught if "does not yet fully support pandas" in str(w.message)]
    for w in caught:
        if w not in pandas_3:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    if pandas_3:
        print(f"note: PySpark {version('pyspark')} says it does not yet fully support pandas {pd.__version__}")


def start_spark(master, scratch):
    """A SparkSession whose scratch files stay in ``scratch`` and which, when local, uses loopback only."""
    # The Python workers must be this interpreter (the system python3 has no pandas or MLflow).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    log4j = Path(scratch, "log4j2.properties")
    log4j.write_text(LOG4J2)
    builder = (
        SparkSession.builder.master(master)
        .appName("wine-scoring")
        .config("spark.local.dir", str(Path(scratch, "local")))  # shuffle and spill files
        .config("spark.sql.warehouse.dir", str(Path(scratch, "warehouse")))  # tables, if any were saved
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log4j.as_uri()}")
        .config("spark.ui.enabled", "false")  # no web UI on port 4040
        .config("spark.ui.showConsoleProgress", "false")  # no [Stage 0:>   ] bars on stderr
    )
    if master.startswith("local"):
        # One machine, nobody else to reach the driver: loopback only (works offline, on a VPN, in a
        # container without DNS). A cluster's driver must be reachable by its executors instead.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    # Ctrl-C while the JVM starts would leave it running on its own: hold Ctrl-C until it is up
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        spark = builder.getOrCreate()
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # a Ctrl-C pressed meanwhile lands now
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def score_on_spark(spark, model_uri, wine_rows, predictions, features, partitions):
    """Read the rows, predict with the model as a pandas UDF, write the predictions; the seconds it took."""
    started = time.perf_counter()
    spark.conf.set("spark.sql.files.minPartitionNum", partitions)  # one task per input file
    spark.conf.set("spark.sql.files.maxPartitionBytes", "1g")  # ... up to 1 GB per file
    # env_manager="local": the workers use this Python environment as it is (fine on one machine, and
    # offline). On a cluster, env_manager="virtualenv" makes every worker build the model's own
    # environment from its requirements (pip, so the cluster needs a package index) and predict in it.
    predict = mlflow.pyfunc.spark_udf(spark, model_uri, env_manager="local", result_type="double")
    rows = spark.read.parquet(str(wine_rows))
    keys = [column for column in rows.columns if column not in features]  # carried through: row_id
    scored = rows.select(*keys, predict(*features).alias("prediction"))
    scored.write.mode("overwrite").parquet(str(predictions))
    return time.perf_counter() - started


def score_with_pandas(model_uri, wine_rows, predictions, features):
    """The same job in one process: read the rows, ``load_model(...).predict``, write; the seconds it took."""
    started = time.perf_counter()
    model = mlflow.pyfunc.load_model(model_uri)
    rows = pd.read_parquet(wine_rows)
    keys = [column for column in rows.columns if column not in features]
    rows[keys].assign(prediction=model.predict(rows[features])).to_parquet(predictions, index=False)
    return time.perf_counter() - started


def parquet_dataset(path, name):
    """A dataset record for a Parquet folder: where it is, its columns, and an md5 of its files as digest."""
    digest = hashlib.md5()
    for part in [path] if path.is_file() else sorted(path.glob("*.parquet")):
        digest.update(part.read_bytes())
    kinds = {"int64": "long", "double": "double"}
    fields = pyarrow.dataset.dataset(path, format="parquet").schema
    schema = Schema([ColSpec(kinds.get(str(field.type), "string"), field.name) for field in fields])
    return MetaDataset(SparkDatasetSource(path=str(path)), name=name, digest=digest.hexdigest()[:8], schema=schema)


def main():
    args = parse_args()

    # Everything that can be wrong is checked before anything is recorded, and before Spark starts
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    features = list(wine.columns.drop("quality"))
    check_java()
    out = Path(args.output_dir).resolve()
    wine_rows, predictions = out / "wine_rows", out / "predictions"
    sizes = args.rows
    if args.input:
        found = pyarrow.dataset.dataset(args.input, format="parquet")
        missing = [column for column in features if column not in found.schema.names]
        if missing:
            raise ValueError(f"{args.input} has no column {', '.join(map(repr, missing))}: not wine rows")
        wine_rows, sizes = Path(args.input).resolve(), [found.count_rows()]
        if sizes == [0]:
            raise ValueError(f"{args.input} holds no rows")
    if args.model_uri:
        model_uri = args.model_uri
        mlflow.models.get_model_info(model_uri)  # fails here, in one line, if the URI resolves to nothing
    else:
        model_uri = champion_uri(args.model_name, args.experiment_name, wine)
    model_version = registry_version(model_uri)
    out.mkdir(parents=True, exist_ok=True)

    experiment = mlflow.set_experiment(args.experiment_name)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # each model download drew a bar
    with tempfile.TemporaryDirectory(prefix="spark-scratch-") as scratch, said_once_about_pandas_3():
        with mlflow.start_run(run_name="spark-scoring") as run:
            mlflow.log_params(
                {
                    "rows": " ".join(map(str, sizes)),
                    "partitions": args.partitions,
                    "master": args.master,
                    "model_uri": model_uri,
                    "model_version": model_version,
                    "input": args.input or f"{len(wine)} UCI wines drawn with seed {args.seed}, noise {NOISE}",
                }
            )
            print(f"starting Spark ({args.master}) ...", flush=True)
            started = time.perf_counter()
            spark = start_spark(args.master, scratch)
            try:
                mlflow.log_metric("spark_startup_seconds", time.perf_counter() - started)
                print(f"Spark {spark.version} started in {time.perf_counter() - started:.1f} s; scoring {model_uri}")
                for rows in sizes:
                    if not args.input:
                        write_wine_rows(wine[features], rows, args.partitions, wine_rows, args.seed)
                    pandas_s = score_with_pandas(model_uri, wine_rows, out / "pandas_predictions.parquet", features)
                    print(
                        f"{rows:>12,} rows: pandas {rows / pandas_s:>9,.0f} rows/s ({pandas_s:.2f} s), Spark",
                        end=" ",
                        flush=True,
                    )
                    spark_s = score_on_spark(spark, model_uri, wine_rows, predictions, features, args.partitions)
                    mlflow.log_metrics(
                        {
                            "spark_rows_per_second": rows / spark_s,
                            "pandas_rows_per_second": rows / pandas_s,
                            "spark_seconds": spark_s,
                            "pandas_seconds": pandas_s,
                        },
                        step=rows,
                    )
                    print(f"{rows / spark_s:>9,.0f} rows/s ({spark_s:.2f} s)")
            finally:
                spark.stop()  # and the JVM exits with this process
            # What the run read and wrote (the last size's rows), as datasets: a path, columns and a digest
            mlflow.log_input(parquet_dataset(wine_rows, "wine_rows"), context="input")
            mlflow.log_input(parquet_dataset(predictions, "predictions"), context="output")

    print(f"run {run.info.run_id} in experiment {experiment.name!r}")
    print(f"  input: {wine_rows}")
    print(f"  predictions: {predictions} (Spark), {out / 'pandas_predictions.parquet'} (pandas)")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: Spark cancelled its jobs, the run ended FAILED, the session stopped
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException, PySparkException) as exc:  # no data, no Java, no such model
        sys.exit(f"error: {exc}")
