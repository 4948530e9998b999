"""radvqa_data.audit"""
