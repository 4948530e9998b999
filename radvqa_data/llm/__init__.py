"""radvqa_data.llm"""
