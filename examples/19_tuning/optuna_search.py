"""Tune the ElasticNet with Optuna: a parent run, one nested child run per trial.

Optuna proposes ``alpha`` (log scale) and ``l1_ratio``; a seeded TPE sampler
makes the sequence of proposals repeatable. Each trial is scored by k-fold
cross-validation on the training rows only (the test rows stay unseen until
the end) and is recorded as a child run nested under one parent run:

- its params, and after each fold ``fold_rmse`` and the running mean
  ``cv_rmse`` (step = fold), the value reported to Optuna's pruner;
- its outcome, as the run's status and an ``optuna.state`` tag:
  COMPLETE -> FINISHED; PRUNED -> KILLED (the median pruner stopped it after a
  fold: its running mean was worse than the median of the completed trials at
  that fold); FAIL -> FAILED, with the reason in an ``error`` tag.

A trial fails here when a fold's fit sets every coefficient to zero (alpha so
strong that the model predicts the training mean whatever the wine): we
declare that region invalid and raise. Optuna's samplers learn nothing from a
failed trial, so in a real study you would rather narrow the search space; it
is here to show how a failure is recorded.

The parent run (tag ``tuner: optuna``) records the search settings, the best
trial's params and ``best_cv_rmse``, a link to the best child run, the count
of each outcome and Optuna's own trials table (``optuna_trials.csv``). The best
params are then refitted on all training rows, scored on the test rows, logged
as a model and registered, the version tagged with the trial it came from.

``--seed`` seeds the sampler, the folds and the model; the train/test split
is always the one of seed 42.

    python examples/19_tuning/optuna_search.py --n-trials 15
"""

import argparse
import os
import sys
from importlib.metadata import version

import mlflow
import mlflow.sklearn
import numpy as np
import optuna
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from sklearn.model_selection import KFold, train_test_split

UCI_URL = "https://archive.ics.uci.edu/ml/machine-learning-databases/wine-quality/winequality-red.csv"

ALPHA_RANGE = (1e-4, 100.0)  # searched on a log scale
L1_RATIO_RANGE = (0.0, 1.0)
PRUNER_STARTUP_TRIALS = 5  # no pruning until this many trials have completed
PRUNER_WARMUP_FOLDS = 1  # and never on the first fold (step 0)


def positive_int(text):
    if int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return int(text)


def at_least_two(text):
    if int(text) < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2, got {text}")
    return int(text)


def model_name(text):
    if not text.strip() or any(char in text for char in "/:'\""):
        raise argparse.ArgumentTypeError(f"a registered model name has no / : or quotes, got {text!r}")
    return text


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, usage=argparse.SUPPRESS, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default=os.environ.get("WINE_QUALITY_CSV", UCI_URL), help="wine CSV: %(default)s")
    parser.add_argument("--experiment-name", default="optuna_tuning", help="(default: %(default)s)")
    parser.add_argument("--n-trials", type=positive_int, default=15, help="Optuna trials (default: 15)")
    parser.add_argument("--folds", type=at_least_two, default=5, help="cross-validation folds per trial (default: 5)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the sampler, folds and model (default: 42)")
    parser.add_argument("--model-name", type=model_name, default="wine_quality_optuna", help="registered model")
    return parser.parse_args()


class DegenerateModel(Exception):
    """A fit whose coefficients are all zero: the trial's params lie in the region we declared invalid."""


def objective(trial: optuna.Trial, train_x, train_y, args) -> float:
    """One trial: a nested child run holding the trial's params, its per-fold scores and its outcome."""
    alpha = trial.suggest_float("alpha", *ALPHA_RANGE, log=True)
    l1_ratio = trial.suggest_float("l1_ratio", *L1_RATIO_RANGE)

    with mlflow.start_run(
        run_name=f"trial-{trial.number}", nested=True, tags={"optuna.trial_number": str(trial.number)}
    ) as child:
        trial.set_user_attr("mlflow_run_id", child.info.run_id)  # the link from Optuna's side
        mlflow.log_params(trial.params)
        try:
            # k-fold CV on the training rows; after each fold, log and report the running mean
            fold_rmses = []
            folds = KFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
            for fold, (fit_rows, score_rows) in enumerate(folds.split(train_x)):
                model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=args.seed)
                model.fit(train_x.iloc[fit_rows], train_y.iloc[fit_rows])
                if not np.any(model.coef_):
                    raise DegenerateModel(f"every coefficient is zero on fold {fold} (alpha too strong)")
                predicted = model.predict(train_x.iloc[score_rows])
                fold_rmses.append(root_mean_squared_error(train_y.iloc[score_rows], predicted))
                cv_rmse = float(np.mean(fold_rmses))
                mlflow.log_metrics({"fold_rmse": fold_rmses[-1], "cv_rmse": cv_rmse}, step=fold)
                trial.report(cv_rmse, step=fold)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"cv_rmse {cv_rmse:.4f} after fold {fold} is worse than the median")
        except optuna.TrialPruned:
            # Pruned: end the child run as KILLED ourselves (the with block would say FAILED)
            mlflow.set_tag("optuna.state", "PRUNED")
            mlflow.end_run(status="KILLED")
            raise
        except DegenerateModel as exc:
            # Failed: leaving the with block with an exception ends the child run as FAILED
            mlflow.set_tags({"optuna.state": "FAIL", "error": str(exc)})
            trial.set_user_attr("error", str(exc))
            raise
        mlflow.set_tag("optuna.state", "COMPLETE")
    return cv_rmse


def main():
    args = parse_args()

    # Data first: the test rows are kept out of the search
    wine = pd.read_csv(args.data, sep=";")
    if "quality" not in wine.columns:
        raise ValueError(f"{args.data} is not the red wine CSV: it has no 'quality' column")
    train, test = train_test_split(wine, test_size=0.25, random_state=42)
    train_x, train_y = train.drop(columns="quality"), train["quality"]
    test_x, test_y = test.drop(columns="quality"), test["quality"]

    # The study: a seeded TPE sampler (repeatable proposals) and a median pruner
    optuna.logging.set_verbosity(optuna.logging.ERROR)  # we print one line per trial ourselves
    sampler = optuna.samplers.TPESampler(seed=args.seed)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_FOLDS)
    study = optuna.create_study(study_name="wine-elasticnet", direction="minimize", sampler=sampler, pruner=pruner)

    # The parent run holds the study; each trial opens its child run inside it
    experiment = mlflow.set_experiment(args.experiment_name)
    with mlflow.start_run(
        run_name="optuna-study",
        tags={"tuner": "optuna", "optuna.version": optuna.__version__, "optuna.study_name": study.study_name},
    ) as parent:
        mlflow.log_params(
            {
                "n_trials": args.n_trials,
                "folds": args.folds,
                "sampler": f"TPESampler(seed={args.seed})",
                "pruner": (
                    f"MedianPruner(n_startup_trials={PRUNER_STARTUP_TRIALS}, n_warmup_steps={PRUNER_WARMUP_FOLDS})"
                ),
                "alpha_range": f"{ALPHA_RANGE} log",
                "l1_ratio_range": str(L1_RATIO_RANGE),
            }
        )
        # catch: a DegenerateModel marks its trial FAIL and the study goes on; anything else stops it.
        study.optimize(
            lambda trial: objective(trial, train_x, train_y, args), n_trials=args.n_trials, catch=(DegenerateModel,)
        )

        # Back in the parent: the outcome counts, Optuna's table and the best trial
        states = [trial.state for trial in study.trials]
        counts = {state: states.count(state) for state in optuna.trial.TrialState}
        mlflow.log_metrics(
            {
                "n_complete": counts[optuna.trial.TrialState.COMPLETE],
                "n_pruned": counts[optuna.trial.TrialState.PRUNED],
                "n_failed": counts[optuna.trial.TrialState.FAIL],
            }
        )
        mlflow.log_text(study.trials_dataframe().to_csv(index=False), "optuna_trials.csv")
        if counts[optuna.trial.TrialState.COMPLETE] == 0:
            raise ValueError(f"none of the {args.n_trials} trials completed; try more --n-trials")
        best = study.best_trial
        best_run_id = best.user_attrs["mlflow_run_id"]
        mlflow.log_params({"best_alpha": best.params["alpha"], "best_l1_ratio": best.params["l1_ratio"]})
        mlflow.log_metric("best_cv_rmse", best.value)
        mlflow.set_tags({"best_trial_number": str(best.number), "best_run_id": best_run_id})

        # Refit the best params on all training rows, score on the test rows, log and register
        model = ElasticNet(random_state=args.seed, **best.params).fit(train_x, train_y)
        predicted = model.predict(test_x)
        mlflow.log_metrics(
            {
                "rmse": root_mean_squared_error(test_y, predicted),
                "mae": mean_absolute_error(test_y, predicted),
                "r2": r2_score(test_y, predicted),
            }
        )
        # MLflow 2.x: log_model(sk_model, artifact_path="wine_model"); 3.x names the model instead
        model_info = mlflow.sklearn.log_model(
            sk_model=model,
            name="wine_model",
            params=best.params,  # MLflow 3: a logged model has params (these, plus a copy of the run's)
            tags={"optuna.trial_number": str(best.number), "best_run_id": best_run_id},
            signature=infer_signature(train_x, model.predict(train_x)),
            input_example=train_x.head(2),
            # Pinned requirements: MLflow need not infer them (a ~3 s subprocess)
            pip_requirements=[f"{name}=={version(name)}" for name in ("mlflow", "scikit-learn", "skops")],
        )
        registered = mlflow.register_model(
            model_info.model_uri,
            args.model_name,
            tags={"optuna.trial_number": str(best.number), "best_run_id": best_run_id},
        )

    print(f"parent run {parent.info.run_id} in experiment {experiment.name!r}: {len(study.trials)} trials")
    for trial in study.trials:
        if trial.state == optuna.trial.TrialState.COMPLETE:
            outcome = f"cv_rmse={trial.value:.5f}"
        elif trial.state == optuna.trial.TrialState.PRUNED:
            outcome = f"stopped after fold {trial.last_step}"
        else:
            outcome = trial.user_attrs.get("error", "")
        marker = "*" if trial.number == best.number else " "
        print(
            f" {marker} trial {trial.number:>2} {trial.state.name:<8} alpha={trial.params['alpha']:<10.4g} "
            f"l1_ratio={trial.params['l1_ratio']:.3f} {outcome}".rstrip()
        )
    print(
        f"best: trial {best.number} (run {best_run_id}) alpha={best.params['alpha']:.4g} "
        f"l1_ratio={best.params['l1_ratio']:.3f} cv_rmse={best.value:.5f}"
    )
    print(f"registered {args.model_name!r} version {registered.version} from {model_info.model_uri}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C: `with mlflow.start_run()` has already marked the runs FAILED
        sys.exit("interrupted")
    except (OSError, ValueError, MlflowException) as exc:  # no data file, no trial completed, no server
        sys.exit(f"error: {exc}")
