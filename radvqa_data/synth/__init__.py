"""radvqa_data.synth"""
