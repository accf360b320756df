"""Command line: ``python -m sklearn_il demo``."""

import argparse
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_il")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo", help="fit every policy on the built-in bimodal task and tabulate rollouts"
    )
    demo.add_argument("--episodes", type=int, default=50, help="expert demonstrations")
    demo.add_argument("--eval-episodes", type=int, default=50, help="rollouts per policy")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--plot", default="sklearn_il_demo.png", help="PNG of the rollouts ('' for none)")
    demo.add_argument("--jobs", type=int, default=-1,
                      help="policies fitted at once (default -1: all cores)")
    args = parser.parse_args(argv)

    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from .demo import format_table, run_demo

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print(f"Bimodal obstacle task: {args.episodes} expert demonstrations, "
          f"{args.eval_episodes} rollouts per policy.\n", flush=True)
    rows = run_demo(args.episodes, args.eval_episodes, args.seed, plot=args.plot or None,
                    n_jobs=args.jobs)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
