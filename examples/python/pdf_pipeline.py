#!/usr/bin/env python
"""
Concurrent PDF Processing Pipeline Example

This example splits a PDF into sections (simulated), processes each section with OCR 
and a GPT model (simulated), and then combines the results to fill a vector database.
The tasks run concurrently using QuicPro's synchronous event loop.
"""

import time
import random
from concurrent.futures import Future

from lwquic.quicpro import SyncEventLoop

# Simulated OCR function
def perform_ocr(section: str) -> str:
    time.sleep(random.uniform(0.5, 1.0))  # Simulate processing delay
    return f"OCR text for {section}"

# Simulated GPT processing function
def process_with_gpt(ocr_text: str) -> str:
    time.sleep(random.uniform(0.5, 1.0))
    return f"Processed data based on '{ocr_text}'"

# Simulated function to insert into a vector DB
def insert_into_vector_db(processed_data: str) -> None:
    time.sleep(random.uniform(0.1, 0.3))
    print(f"Inserted into vector DB: {processed_data}")

def process_pdf_section(section: str, loop: SyncEventLoop) -> Future:
    """
    Process one PDF section with OCR and GPT concurrently using the event loop.
    """
    # Schedule OCR task
    ocr_future = loop.schedule_task(perform_ocr, section)
    # When OCR is complete, schedule GPT processing
    def gpt_task(ocr_result):
        return process_with_gpt(ocr_result)
    gpt_future = loop.schedule_task(gpt_task, ocr_future.result())
    # When GPT finishes, insert result into vector DB
    def db_task(processed):
        insert_into_vector_db(processed)
    db_future = loop.schedule_task(db_task, gpt_future.result())
    return db_future

def main():
    # Simulated sections from splitting a PDF.
    pdf_sections = [f"Section {i+1}" for i in range(5)]
    loop = SyncEventLoop(max_workers=4)
    loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
    loop_thread.start()
    
    tasks = []
    for section in pdf_sections:
        future = process_pdf_section(section, loop)
        tasks.append(future)
    
    # Wait for all tasks to complete.
    for task in tasks:
        task.result()
    
    loop.stop()
    loop_thread.join()
    print("PDF processing pipeline completed.")

if __name__ == "__main__":
    import threading
    main()
