"""f-divergence imitation on the obstacle: which divergence commits to a mode.

Every policy is a unimodal Gaussian with its defaults, fitted on 50 expert
demonstrations of the obstacle task (the expert passes above or below;
acting between the modes, |a| < 0.5, hits the obstacle). Behaviour cloning
by maximum likelihood minimises the forward KL and covers both modes;
``FDivergenceBC`` starts from that fit and plays the f-GAN game for each
divergence. The columns are those of ``bench_multimodal.py``'s first table:
success rate and return of ``predict`` rolled out for 50 episodes, fit
seconds and their ratio to the first row's (the Gaussian BC, in the same
run; target for FDivergenceBC: <= 10), one-row ``predict`` microseconds, and
the fraction of the policy's draws at the start state that fall between
the modes.

Run: ``python benchmarks/bench_fdivergence.py [--seeds 10]``.
"""

import argparse

from bench_multimodal import obstacle_table

from sklearn_il import BCRegressor, FDivergenceBC

POLICIES = {
    "BCRegressor(loss='gaussian')": lambda s: BCRegressor(loss="gaussian", random_state=s),
    **{
        f"FDivergenceBC('{d}')": lambda s, d=d: FDivergenceBC(divergence=d, random_state=s)
        for d in ["js", "reverse_kl"]
    },
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--eval-episodes", type=int, default=50)
    args = parser.parse_args()
    obstacle_table(range(args.seeds), args.eval_episodes, POLICIES)


if __name__ == "__main__":
    main()
