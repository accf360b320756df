from setuptools import find_packages, setup

setup(
    name="sklearn_il",
    version="0.1.0",
    description="Imitation learning with the scikit-learn API: behaviour cloning, "
    "expressive policies, DAgger and corrective augmentation on PyTorch via skorch.",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["sklearn_il", "sklearn_il.*"]),
    python_requires=">=3.10",
    install_requires=[
        "numpy>=1.24",
        "scipy>=1.10",
        "scikit-learn>=1.6",
        # A range the locally provided CPU wheel (2.13.0) satisfies; install that
        # pin first (see .ci/run) to avoid pulling CUDA builds.
        "torch>=2.4,<3",  # fused Adam on the CPU (FDivergenceBC)
        "skorch>=1.0",
        "gymnasium>=1.0",
        "imbalanced-learn>=0.13",
        "safetensors>=0.4",
        # io.dump/load of Pipelines and interactive wrappers (trusted types).
        "skops>=0.10",
        "tqdm>=4.60",
    ],
    extras_require={
        "plot": ["matplotlib>=3.7"],
        # Demonstrations from and to DataFrames, parquet and Minari datasets
        # (arrow storage; hdf5 for datasets written with Minari's default).
        # (Minari's arrow storage imports PIL without requiring it.)
        "data": ["pandas>=2", "pyarrow>=14", "minari[arrow,hdf5]>=0.5", "pillow"],
        # sklearn_il.io.export(format="onnx") and onnxruntime to run its graphs.
        "deploy": ["onnx>=1.16", "onnxruntime>=1.18"],
        # Logging policies to MLflow (saved with skops, its default format).
        "mlflow": ["mlflow>=3.0"],
        # stable-baselines3 agents as experts (sklearn_il.experts.SB3Expert).
        "sb3": ["stable-baselines3>=2.3"],
        # Searches on a dask.distributed cluster (sklearn_il.parallel.DaskBackend).
        "dask": ["dask[distributed]>=2024.1"],
        "box2d": ["gymnasium[box2d]>=1.0"],
        "mujoco": ["gymnasium[mujoco]>=1.0"],
        "test": [
            "pytest>=7",
            "pytest-xdist>=3",
            "dask[distributed]>=2024.1",
            "hypothesis>=6",
            "matplotlib>=3.7",
            "pandas>=2",
            "pyarrow>=14",
            "minari[arrow]>=0.5",
            "pillow",
            "gymnasium[box2d,mujoco]>=1.0",
            "onnx>=1.16",
            "onnxruntime>=1.18",
            "mlflow>=3.0",
            # A real client of partial_fit: OptunaSearchCV's pruning.
            "optuna>=4",
            "optuna-integration>=4",
            # Experts as stable-baselines3 users hold them.
            "stable-baselines3>=2.3",
        ],
        "docs": [
            "sphinx>=7",
            "numpydoc>=1.6",
            "sphinx-gallery>=0.15",
            "pydata-sphinx-theme>=0.15",
            "matplotlib>=3.7",
            "pandas>=2",
            # What the gallery runs: the Dask example's cluster, the
            # your-own-data example's parquet, the deployment example's graph.
            "dask[distributed]>=2024.1",
            "pyarrow>=14",
            "onnx>=1.16",
            "onnxruntime>=1.18",
        ],
    },
    entry_points={"console_scripts": ["sklearn-il=sklearn_il.__main__:main"]},
)
